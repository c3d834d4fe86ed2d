package protocol

// ClassIDFor exposes the process-wide class id of a name_pack to the external tests.
var ClassIDFor = classIDFor
