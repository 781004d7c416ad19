"""The array tier: NumPy programs traced, differentiated and compiled as array graphs.

See `symhess.arrays.graph` (the nodes), `symhess.arrays.tracer`, `symhess.arrays.numpy_rules`
and `symhess.arrays.indexing` (tracing), `symhess.arrays.rules` (derivatives),
`symhess.arrays.kernel` (lowering to loops) and `symhess.arrays.product` (the products).
"""
