"""Jobs: what a job is, how it moves through its lifecycle, and who runs it."""
