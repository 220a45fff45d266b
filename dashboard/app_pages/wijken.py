"""Page: the wijken of the chosen gemeente (table, centrum versus rest, wijk map)."""

from dashboard.ui.wijken_view import render

render()
