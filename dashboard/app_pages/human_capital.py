"""Kernthema page: map, time series and ranking for one indicator."""

from dashboard.ui.theme_view import render

render("human_capital")
