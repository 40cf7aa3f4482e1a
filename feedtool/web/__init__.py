"""The archive on the web: what `feedtool serve` answers, and the server it runs on.

- files.py: which published file an address names, its type, and the page a browser gets;
- answers.py: query feeds and the search page, made from the store in a few threads;
- budget.py: what one answer may cost, and whose turn it is to get one;
- app.py: the ASGI application over all three, with one status for each way a request fails;
- server.py: the application on uvicorn, with the bounds a public server needs.
"""
