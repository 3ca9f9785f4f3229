"""Route tables: Oracle's paths and our ``/epmjobs/v1`` extensions."""
