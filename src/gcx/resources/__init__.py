"""gcx.resources"""
