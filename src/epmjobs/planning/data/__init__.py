"""Cell data files: the formats IMPORT_DATA reads and EXPORT_DATA (and DATAEXPORT) writes."""
