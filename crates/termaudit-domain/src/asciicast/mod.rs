//! asciicast v2/v3 (being built)
