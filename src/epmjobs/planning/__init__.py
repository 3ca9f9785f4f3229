"""The planning engine: applications, cubes, and (in later issues) outlines and cell data."""
