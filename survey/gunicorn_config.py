"""Gunicorn settings that keep invitation tokens and respondents' devices out of the logs.

Use: `gunicorn -c python:survey.gunicorn_config --bind 127.0.0.1:8000 --workers 2 wsgi:app`.
The access log (stdout) has the time to the second, the method, the path with tokens masked
(`/r/***/u/12/p/2`), the status and the size; see survey/logmask.py. A reverse proxy in front
(nginx, Caddy) logs full URLs by default and must be given an equivalent format.
"""

from survey.logmask import GunicornLogger

logger_class = GunicornLogger
accesslog = "-"
access_log_format = '%(t)s "%(r)s" %(s)s %(b)s'
