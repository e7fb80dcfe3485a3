//! Data sets: readers for CSV, IDX and NPY files, and seeded synthetic generators.
