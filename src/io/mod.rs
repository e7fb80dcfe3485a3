//! Model files: reading and writing trained models (safetensors, DESIGN.md §4).
