"""Routing and allocation (distributed order management): policies, the pure planner, the
allocation services, re-routing and backorders. See docs/ROUTING.md."""
