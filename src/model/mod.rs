//! Models: the MLP, its losses, its flat parameter layout and its training.
