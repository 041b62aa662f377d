"""``toolkit init ENV``: a new environment (inventory) for an administration, every
variable commented, its secrets in an Ansible Vault file."""
