"""Reports people read: self-contained HTML pages (inline SVG charts) and the same figures as JSON.

- :func:`crindex.report.scoring.report_figures` / ``crindex report``: one scoring run;
- :func:`crindex.report.html.render_backtest`: the page of ``crindex backtest``;
- :mod:`crindex.report.palette`: the tier colours of every page, chart and the dashboard.
"""
