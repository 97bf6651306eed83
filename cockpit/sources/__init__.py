"""Reads: transports (kube, prometheus, s3, gitrepo, flags) and the pure parsers of what they return."""

import threading

IMPORT_LOCK = threading.RLock()
"""Held while a client library (kubernetes, prometheus-api-client, requests, urllib3, boto3, GitPython) is imported
lazily from a feed or evidence thread.  Python 3.11 importing ``requests`` from two threads at once can hand one of
them the partially initialised module (``cannot import name 'parse_dict_header' from partially initialized module
'requests.utils'``): at start-up the Kubernetes and Prometheus threads did, and a pane said its library was not
installed.  Imports that are done already cost nothing under it."""
