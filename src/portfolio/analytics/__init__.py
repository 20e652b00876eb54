"""Pure pandas/statsmodels analytics: no Dash, no database."""
