"""Starts moto's server handling one request at a time.

moto_server serves requests on parallel threads, and moto does not isolate concurrent
TransactWriteItems: two racing transactions can both pass their conditions, and a cancelled one can
write its stale copy of a table back. Real DynamoDB serialises conditional writes on an item, so
serving one request at a time is the faithful model for our concurrency tests (the clients still
race; moto's werkzeug server closes every connection, so one slow client cannot block the rest).

usage: python scripts/moto_server.py HOST PORT
"""
import sys

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app


def main(host, port):
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]))
