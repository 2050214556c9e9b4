# Autobahn|Testsuite's fuzzingserver, on 127.0.0.1 only. Python 2.7.
#
#   python2 fuzzingserver.py PACKAGES REPORTS PORT_FILE CASES...
#
# `wstest -m fuzzingserver` listens on every interface and serves its web pages on 8080;
# this starts the same server factory on a free loopback port, with no web pages, and
# writes the port to PORT_FILE once it listens. PACKAGES is where pip installed the suite
# (a --target directory: site.addsitedir also reads its .pth files, which zope needs).
import os
import site
import sys

packages, reports, port_file = sys.argv[1:4]
cases = sys.argv[4:]
site.addsitedir(packages)

# As wstest does: the reactor is chosen before anything else of Twisted is imported.
from autobahntestsuite import choosereactor  # noqa: F401
from twisted.internet import reactor
from autobahntestsuite.fuzzing import FuzzingServerFactory

spec = {
    # Only the factory's settings come from this URL; where it listens is below.
    "url": "ws://127.0.0.1:9001",
    "outdir": reports,
    "cases": cases,
    "exclude-cases": [],
    "exclude-agent-cases": {},
}
factory = FuzzingServerFactory(spec)
# The port in the client's Host header is whatever the proxy in front says: don't check it.
factory.externalPort = None
port = reactor.listenTCP(0, factory, interface="127.0.0.1").getHost().port
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % port)
os.rename(port_file + ".tmp", port_file)
print("fuzzingserver listening on 127.0.0.1:%d, %d cases" % (port, len(factory.specCases)))
sys.stdout.flush()
reactor.run()
