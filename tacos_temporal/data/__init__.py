"""Layer 1: TACOS tables -> items -> Parquet views."""
