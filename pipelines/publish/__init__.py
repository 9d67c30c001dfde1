"""Publication: the asset that replaces the copy readers open at the end of a run (assets.py; the copy itself and
the run lock are pipelines.core.publish, which every writing step uses), and the cross-chain file built from each
chain's published copy (crosschain.py)."""
