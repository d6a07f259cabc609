"""Getting reference data into the dated snapshot store: downloads and imports of local files."""
