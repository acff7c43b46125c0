"""What the spec-library tests pin: outcomes of every model, and counterexample runs.

FAST runs in the default suite, SLOW only with `-m slow`. Keys are (spec file, model,
-D defines, symmetry); values are (verdict, property, distinct, transitions, depth).
Numbers with symmetry depend on the canonicalizer as well as the spec; numbers without
it only on the spec and the explorer. On a violation the explorer finishes the level it
is in, so the counts are those of whole levels (the same with --workers).
"""
from __future__ import annotations

# (spec, model, defines, symmetry) -> (verdict, property, distinct, transitions, depth)
FAST = {
    ("bully.elect", "default", (), True): ("holds", None, 1855, 7618, 14),
    ("bully.elect", "slow_answer", (), True): ("violated", "OneLiveLeader", 44, 65, 3),
    ("bully.elect", "partition", (), True): ("violated", "OneLiveLeader", 186, 355, 4),
    ("chang_roberts.elect", "default", (), True): ("holds", None, 137, 219, 9),
    ("chang_roberts.elect", "crash", (), True): ("deadlock", "ElectionEnds", 378, 606, 3),
    ("lcr.elect", "default", (), True): ("holds", None, 96, 220, 12),
    ("lcr.elect", "crash", (), True): ("deadlock", "ElectionEnds", 123, 272, 4),
    ("paxos.elect", "default", (), True): ("holds", None, 30546, 120388, 19),
    ("paxos.elect", "minority_quorum", (), True): ("violated", "QuorumsIntersect", 3256, 7288, 6),
    ("raft.elect", "default", (), True): ("holds", None, 5408, 21702, 17),
    ("raft.elect", "default", (), False): ("holds", None, 31315, 124122, 17),
    ("raft.elect", "volatile_vote", (), True): ("violated", "OneLeaderPerTerm", 781, 2056, 8),
    ("raft.elect", "volatile_vote", (), False): ("violated", "OneLeaderPerTerm", 4493, 11424, 8),
    ("raft.elect", "volatile_term", (), True): ("violated", "TermsNeverDecrease", 21, 41, 3),
    ("raft.elect", "volatile_term", (), False): ("violated", "TermsNeverDecrease", 87, 132, 3),
    ("raft.elect", "yardstick", ("N=3",), False): ("holds", None, 1111, 3900, 15),
    ("raft.elect", "yardstick", ("N=3",), True): ("holds", None, 205, 728, 15),
    ("raft.elect", "yardstick", ("N=2", "MAX_TERM=3"), False): ("holds", None, 4297, 16516, 14),
    ("raft.elect", "yardstick_multiset", ("N=2", "MAX_TERM=3"), False): ("holds", None, 5572, 21156, 16),
    ("raft.elect", "yardstick_multiset", ("N=3",), False): ("holds", None, 1111, 3900, 15),
    ("zookeeper.elect", "default", (), True): ("holds", None, 9647, 24707, 24),
    ("zookeeper.elect", "default", (), False): ("holds", None, 19230, 49266, 24),
    ("zookeeper.elect", "no_fencing", (), True): ("violated", "NoStaleWrite", 1253, 3049, 14),
    ("zookeeper.elect", "no_fencing", (), False): ("violated", "NoStaleWrite", 2483, 6074, 14),
    ("etcd.elect", "default", (), True): ("holds", None, 20763, 52090, 26),
    ("etcd.elect", "no_fencing", (), True): ("violated", "NoStaleWrite", 11166, 30101, 16),
    ("etcd.elect", "no_fencing", (), False): ("violated", "NoStaleWrite", 22287, 60091, 16),
    ("etcd.elect", "trust_campaign", (), True): ("violated", "LeadsOnlyWithKey", 1604, 4458, 8),
    ("etcd.elect", "trust_campaign", (), False): ("violated", "LeadsOnlyWithKey", 3183, 8845, 8),
}

SLOW = {
    ("bully.elect", "large", (), True): ("holds", None, 490325, 3778822, 29),
    ("chang_roberts.elect", "large", (), True): ("holds", None, 40261, 138157, 27),
    ("lcr.elect", "large", (), True): ("holds", None, 35280, 170604, 33),
    ("paxos.elect", "large", (), True): ("holds", None, 1043160, 4508668, 24),
    ("raft.elect", "large", (), True): ("holds", None, 463385, 4461308, 24),
    ("raft.elect", "yardstick", (), True): ("holds", None, 30026, 224064, 28),
    ("raft.elect", "yardstick", ("N=4",), False): ("holds", None, 701064, 5229760, 28),
    ("raft.elect", "yardstick_multiset", (), True): ("holds", None, 30026, 224064, 28),
    ("zookeeper.elect", "large", (), True): ("holds", None, 386310, 1582779, 29),
    ("etcd.elect", "large", (), True): ("holds", None, 315913, 1065524, 29),
}

# Models checked only with -m slow: the table test leaves their rows to the slow run.
SLOW_MODELS = {(spec, model) for (spec, model, defines, sym) in SLOW if not defines and sym}



CASES = {
    ("bully.elect", "slow_answer"): [
        "timeout leader @1",                      # 1 sends Election to 2 and 3
        "timeout answer @1",                      # before 3's Answer: 1 announces itself
        "timeout leader @3",                      # 3, the highest, announces itself too
    ],
    ("bully.elect", "partition"): [
        "timeout leader @1",
        "timeout leader @3",                      # 3 is coordinator
        "partition 1 | 2,3",
        "timeout answer @1",                      # 1 hears nobody across the cut: split brain
    ],
    ("chang_roberts.elect", "crash"): [
        "start(p=2)",
        "start(p=3)",                             # the only initiator sends its id to 1
        "crash(p=1)",                             # 1 crashes with it: stuck, no winner
    ],
    ("lcr.elect", "crash"): [
        "timeout initiate @1",
        "timeout initiate @2",
        "deliver Election(id=1) 1->2",
        "crash 3",                                # every id still to pass 3 is lost
    ],
    ("paxos.elect", "minority_quorum"): [
        "timeout election @1",
        "timeout election @2",
        "deliver Prepare(ballot=(1, 1)) 1->4",
        "deliver Promise(ballot=(1, 1), vbal=(0, 0), vval=0) 4->1",   # 1 leads with {1, 4}
        "deliver Prepare(ballot=(1, 2)) 2->3",
        "deliver Promise(ballot=(1, 2), vbal=(0, 0), vval=0) 3->2",   # 2 leads with {2, 3}
    ],
    ("raft.elect", "volatile_vote"): [
        "timeout election @1",
        "deliver RequestVote(term=1) 1->2",
        "deliver Vote(term=1, granted=true) 2->1",  # 1 leads term 1
        "crash 2",
        "restart 2",                                # 2 forgets its vote
        "timeout election @3",
        "deliver RequestVote(term=1) 3->2",
        "deliver Vote(term=1, granted=true) 2->3",  # 3 leads term 1 too
    ],
    ("raft.elect", "volatile_term"): [
        "timeout election @1",
        "crash 1",
        "restart 1",                                # term back to 0
    ],
    ("zookeeper.elect", "no_fencing"): [
        "connect(c=1)",
        "connect(c=2)",
        "campaign(c=1)",                          # token 0
        "campaign(c=2)",                          # token 1
        "elected(c=1)",
        "write() @1",                             # prepared with token 0
        "pause(c=1)",
        "tick",
        "expire(s=(1, 1))",                       # 1's session times out, its node goes
        "elected(c=2)",
        "write() @2",
        "resume(c=1)",
        "deliver Write(token=1, id=1) 2->3",
        "deliver Write(token=0, id=1) 1->3",      # the stale write, accepted
    ],
    ("etcd.elect", "no_fencing"): [
        "lease_grant(c=1)",
        "lease_grant(c=2)",
        "campaign(c=1)",
        "campaign(c=2)",
        "register(q=(1, 1))",                     # key at revision 2
        "elected(c=1)",
        "write() @1",
        "register(q=(2, 2))",                     # key at revision 3
        "pause(c=1)",
        "tick",
        "expire(l=(1, 1))",                       # 1's lease times out, its key goes
        "elected(c=2)",
        "write() @2",
        "resume(c=1)",
        "deliver Write(token=3, id=1) 2->3",
        "deliver Write(token=2, id=1) 1->3",      # the stale write, accepted
    ],
    ("etcd.elect", "trust_campaign"): [
        "lease_grant(c=1)",
        "campaign(c=1)",
        "register(q=(1, 1))",                     # the campaign is answered at once
        "pause(c=1)",
        "tick",
        "expire(l=(1, 1))",                       # the lease and key expire meanwhile
        "resume(c=1)",
        "elected(c=1)",                           # it leads on the answer: no key
    ],
}
