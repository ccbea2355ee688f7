"""gunicorn's settings for every deployment (the Dockerfile, the Databricks app's command): `gunicorn -c cdp_site/gunicorn.conf.py`.

No access log. gunicorn's default access line holds the HTTP Basic user name, which is a write key
for every Segment and RudderStack SDK, and the full request line with its query string (where the
beacon route carries `?writeKey=` and careless clients put tokens). The app writes its own line
per request (`cdp.request`: request id, tenant, principal label, method, path without query,
status, duration), which never holds a credential. Should an access log be switched on anyway
(`--access-logfile -`), the format below keeps to the path and leaves out the user name, the query
string and the referrer.
"""
workers = 2
threads = 8
timeout = 120
accesslog = None
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
