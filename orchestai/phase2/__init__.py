"""phase2"""
