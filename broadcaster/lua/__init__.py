"""Lua scripts of the campaign store (prelude.lua is prepended to each)."""
