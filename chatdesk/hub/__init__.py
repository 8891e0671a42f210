"""Hugging Face catalogue, search and downloads, and the local model library."""
