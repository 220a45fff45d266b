"""Kernthema page: map, time series and ranking for one indicator."""

from dashboard.theme_view import render

render("mkb_innovatie")
