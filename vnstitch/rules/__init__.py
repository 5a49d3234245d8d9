"""OpenFlow rule plans as plain data: matches, actions, meters, cookies, priority bands."""
