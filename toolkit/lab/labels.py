"""Labels every lab container carries (podman ``--label``)."""

#: The lab's name (its ``lab_name``).
LAB_LABEL = "io.telework.lab"
#: The inventory host the container is.
HOST_LABEL = "io.telework.host"
#: The lab's state folder (keys, known_hosts) the container was made with.
STATE_LABEL = "io.telework.state"
