"""Layer 2: text -> letter -> numbers (no model code)."""
