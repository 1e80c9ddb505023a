"""Shared perception machinery (face detection, landmarks, identity embeddings) used by several dimensions."""
