"""epmjobs: Oracle EPM Cloud Planning's jobs REST API, self-hosted."""

__version__ = "0.1.0"
