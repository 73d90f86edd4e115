"""gcx.emulator"""
