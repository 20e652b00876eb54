"""portfolio: a self-hosted dashboard for business half-hourly and hourly energy data."""

__version__ = "0.1.0"
