"""Show control: the built-in commands and the adapters onto the command registry.

``builtin`` declares every command (pure); the OSC server, OSCQuery, the schedule and key
bindings are adapters that turn their input into registry commands, never around them.
"""
