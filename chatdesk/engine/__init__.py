"""llama.cpp inference in a separate host process, and the client the app uses to reach it."""
