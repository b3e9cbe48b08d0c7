# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs last (file order): nothing in the suite -- labs, the private
network, the demo's code paths -- may have changed the machine's own
network namespace: ruleset, links, addresses, routes, ip_forward and
bridge-nf-call-iptables are what they were when the session started."""
import helpers


def test_root_network_namespace_unchanged():
    before = helpers.ROOT_NETNS_BASELINE
    after = helpers.root_netns_snapshot()
    for key in before:
        assert after[key] == before[key], "the root netns changed: %s\nbefore:\n%s\nafter:\n%s" % (
            key, before[key], after[key])
