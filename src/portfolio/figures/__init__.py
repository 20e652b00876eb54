"""Pure figure builders: pandas frames in, ``go.Figure`` out (plotly and pandas only, no Dash, no database)."""
