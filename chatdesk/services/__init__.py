"""Small service objects the window uses to reach the store, engine, hub and export layers."""
