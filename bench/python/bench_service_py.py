"""The Python service of bench/run_services.sh: a jetwire service "bench"
1.0.0 with one endpoint, "echo", on SUBJECT, answering each request with
its data from a plain handler on the connection's callback thread
(blocking API). Prints "ready" and serves until stdin closes.

  python bench_service_py.py URL SUBJECT
"""
import sys

import jetwire


def main() -> None:
    url, subject = sys.argv[1], sys.argv[2]
    with jetwire.connect(url) as nc:
        svc = nc.add_service("bench", "1.0.0")
        svc.add_endpoint("echo", lambda req: req.respond(req.data),
                         subject=subject)
        nc.flush()
        print("ready", flush=True)
        sys.stdin.read()
        svc.stop()


if __name__ == "__main__":
    main()
