"""Token probabilities of replies: storage format, JSON form, and the sampling-shape math.

Qt-free and llama-free: the engine host computes the probabilities (``engine.host``), this
package packs them for the store, writes them as JSON, and reshapes a stored distribution
the way temperature, top-k, top-p and min-p would (the temperature explorer).
"""
