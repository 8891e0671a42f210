"""The engine host: a child process that owns llama.cpp and the loaded model.

The only package that imports ``llama_cpp``. Run it with ``python -m chatdesk.engine.host``
(or ``chatdesk __engine-host`` in the frozen app); it speaks the frame protocol of
``chatdesk.engine.protocol`` on stdin/stdout and logs to stderr.
"""
