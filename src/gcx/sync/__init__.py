"""gcx.sync"""
