"""Privacy: data exports (JSON and CSV in a zip, downloadable once) and erasure of a user."""
