"""Loop nests shared by the array tier's elementwise nodes (`symhess.arrays.kernel`).

A loop program that computes each array in a loop of its own reads and writes memory once per
array: the Hessian of a mesh energy over 200,000 triangles is then bound by memory, not
arithmetic. `Fusion` schedules the materialized nodes so that the elementwise ones of one
shape come together, computes them in one loop nest (each reading the others at the nest's own
index), holds in a register each one read nowhere else, and adds a scatter of values of that
shape into its result from inside the nest (the sums of a sparse Hessian's element blocks
into their slots), so those values never make an array at all.

A run of arithmetic each inlined into its one consumer prints as one expression, nested once
per step: the tangent of a long chain of maps would nest deeper than Python's parser takes
(200 parentheses). `Fusion.deep_ends` names the step where a run gets too deep, so it is
computed like any fused node, into a register its consumer reads by name.
"""

from __future__ import annotations

from .. import errors

FUSED = ("unary", "binary", "where")     # materialized in one loop nest with their neighbours
FEW = 16            # a nest over (at most FEW, many) loops over the many outside
MAX_NESTING = 48    # parentheses an inlined expression may nest (Python's parser takes 200)


class Fusion:
    """The statement order and loop nests of a `symhess.arrays.kernel.Lowering` (a mixin: it
    uses the lowering's ``order``, ``materialized``, ``roots``, statements and expressions)."""

    def program(self) -> list:
        """The statements computing every materialized node, in order.

        Consecutive elementwise nodes of one shape are computed in one loop nest (fused), each
        reading the others at the nest's own index; one read nowhere else (not at another
        index, not after the nest, not whole) is held in a register instead of an array. The
        program is generated once to find where each fused node is read, and again with
        those nodes in registers."""
        self._generate()
        roots = {r.id for r in self.roots}
        self.scalars = {node_id for node_id, reads in self._reads.items()
                        if node_id in self._homes and node_id not in roots | self._escaped
                        and all(r is not None and r == self._homes[node_id] for r in reads)}
        if self.scalars:
            self.names, self.lines, self.index_arrays, self.prologue = {}, [], {}, []
            self._fresh, self._reads, self._read_log, self._escaped = 0, {}, [], set()
            self._generate()
        return self.lines

    def deep_ends(self, chosen) -> set:
        """Ids of the unchosen nodes whose expression, with every unchosen node below it
        inlined, would nest more than MAX_NESTING parentheses: materialized, each starts the
        count again. An elementwise node is cut at that bound, a product (an einsum of no
        sum, which would become an array of its own) only at twice it: where the two
        alternate, the cut falls on the elementwise node, which the nest holds in a register.
        Shallow expressions are left as they are."""
        depth, ends = {}, set()
        for n in self.order:
            if n.id in chosen or n.op in ("input", "const"):
                depth[n.id] = 2                 # read as a subscript, or as a register
                continue
            own = 2 if n.op == "einsum" or n.op == "binary" and n.params[0] == "pow" \
                else int(n.op in FUSED)         # an index map prints no parentheses
            depth[n.id] = max((depth[a.id] for a in n.args), default=0) + own
            if own and depth[n.id] > MAX_NESTING * (1 if n.op in FUSED else 2):
                ends.add(n.id)
                depth[n.id] = 2
        return ends

    def _generate(self):
        self._homes = {}
        for node in self._schedule():
            if node.op in FUSED:
                self._fuse(node)
            elif not (node.op == "scatter" and self._sink(node)):
                self._flush()
                self.emit(node)
        self._flush()

    def _schedule(self):
        """The materialized nodes in an order that computes each after the arrays it reads,
        taking next an elementwise node of the open nest's shape where one is ready (so more
        of them share a nest), else anything else that is not elementwise, else the first."""
        position = {n.id: k for k, n in enumerate(self.order)}
        below = {}                  # node id -> the materialized nodes its value reads
        for n in self.order:
            reads = set()
            for a in n.args:
                reads |= {a.id} if a.id in self.materialized else below[a.id]
            below[n.id] = reads
        nodes = [n for n in self.order if n.id in self.materialized]
        waiting = {n.id: len(below[n.id]) for n in nodes}
        users = {}
        for n in nodes:
            for d in below[n.id]:
                users.setdefault(d, []).append(n)
        ready = [n for n in nodes if not waiting[n.id]]
        shape = None
        while ready:
            pick = next((n for n in ready if n.op in FUSED and n.shape == shape), None) \
                or next((n for n in ready if n.op == "scatter"
                         and all(g.shape == shape for g in n.args[0::2])), None) \
                or next((n for n in ready if n.op not in FUSED), None) or ready[0]
            ready.remove(pick)
            shape = pick.shape if pick.op in FUSED else None
            yield pick
            for u in users.get(pick.id, ()):
                waiting[u.id] -= 1
                if not waiting[u.id]:
                    ready.append(u)
            ready.sort(key=lambda n: position[n.id])

    def _fuse(self, node):
        """Compute elementwise ``node`` in the open loop nest, or in a new one."""
        group = self._group
        if group is not None and group["shape"] == node.shape and self._member(node, group):
            return
        self._flush()
        heads, idx, depth = self.loops(node.shape)
        if len(node.shape) == 2 and node.shape[0] <= FEW < node.shape[1]:
            # (directions, elements): each element's values are read once for all directions
            heads = [heads[1].replace("    ", "", 1), "    " + heads[0]]
        self._group = {"token": node.id, "shape": node.shape, "heads": heads, "idx": idx,
                       "depth": depth, "body": [], "members": set()}
        if not self._member(node, self._group):
            raise errors.InternalError("an elementwise node reads itself")

    def _sink(self, node) -> bool:
        """Add scatter ``node`` into the open nest when all it scatters has the nest's shape:
        its result is zeroed before the nest and added into inside it (and the nest closes:
        nothing may read the result before it is whole)."""
        group = self._group
        if group is None or any(g.shape != group["shape"] for g in node.args[0::2]):
            return False
        before = len(self._read_log)
        name = f"t{node.id}"
        statements = [self.scatter_statement(node, name, g, index, group["idx"])
                      for g, index in zip(node.args[0::2], node.args[1::2])]
        if not self._reads_in_place(group, before):
            return False
        self.alloc(node, "zeros")
        group["body"] += ["    " * group["depth"] + s for s in statements]
        self._flush()
        return True

    def _reads_in_place(self, group, before: int) -> bool:
        """Whether the reads since the first ``before`` of the read log read the group's nodes
        at the nest's index; if not, they are forgotten. Only those reads are looked at, so
        checking a statement costs its own reads, not the size of the nest (a long chain
        fuses thousands of nodes into one nest)."""
        here = (group["token"], tuple(group["idx"]))
        members, recent = group["members"], self._read_log[before:]
        if all(r == here for node_id, r in recent if node_id in members):
            return True
        for node_id, _ in reversed(recent):        # forget this attempt's reads
            self._reads[node_id].pop()
        del self._read_log[before:]
        return False

    def _member(self, node, group) -> bool:
        """Add ``node``'s statement to ``group``, unless it reads a node of the group at
        another index than the nest's (which needs the whole array first)."""
        before = len(self._read_log)
        value = self.body(node, group["idx"])
        if not self._reads_in_place(group, before):
            return False
        here = (group["token"], tuple(group["idx"]))
        group["members"].add(node.id)
        self._homes[node.id] = here
        if node.id in self.scalars:
            target = f"u{node.id}"
        else:
            target = self.access(self.alloc(node, "empty"), group["idx"])
        group["body"].append("    " * group["depth"] + f"{target} = {value}")
        return True

    def _flush(self):
        group, self._group = self._group, None
        if group is not None:
            self.lines += group["heads"] + group["body"]
