"""The delivery network operators run: zones and their postcode prefixes, slot templates and
dated slots, pickup points and lockers, closed days; files in and out, and changes that never
strand a booked parcel."""
