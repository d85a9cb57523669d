"""`schemasync studio`: a read-only local web app to look at the schema, its drift, history and backups.

`source.py` reads (read-only sessions with a statement timeout, the models, the stores), `pages.py`
turns what it read into pages, `erd.py` lays out and draws the relationship diagram, `app.py` builds
the Starlette application (templates, static files, guards, error pages) and `server.py` runs it with
uvicorn for the CLI. Templates and static files are ours and ship in the package: no build step, no CDN.
"""
