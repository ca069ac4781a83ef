"""One-click redemption: a firm claims a subsidy it qualifies for, its amount reserved from the
policy's budget, once per firm and policy, once per exclusivity group, replay-safe."""
