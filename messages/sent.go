package messages

import "sync"

// sentLog is the record behind Bus.Delete, the same for every bus: the IDs
// of the latest messages sent through this instance, at most max of them,
// the oldest forgotten first. Messages are delivered when they are sent
// and stored nowhere else, so deleting one removes it from this record
// only: the answer says whether it was there.
type sentLog struct {
	mu    sync.Mutex
	max   int
	order []string            // ring of the last max IDs sent, deleted ones included
	next  int                 // where the next ID goes in order
	index map[string]struct{} // the IDs in order
}

func newSentLog(max int) *sentLog {
	return &sentLog{max: max, order: make([]string, 0, min(max, 1024)), index: map[string]struct{}{}}
}

// add records id, forgetting the oldest ID when full.
func (l *sentLog) add(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.order) < l.max {
		l.order = append(l.order, id)
	} else {
		delete(l.index, l.order[l.next])
		l.order[l.next] = id
		l.next = (l.next + 1) % l.max
	}
	l.index[id] = struct{}{}
}

// remove forgets id and reports whether it was recorded. Its slot in the
// ring stays until overwritten; the index alone says what is recorded.
func (l *sentLog) remove(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.index[id]; !ok {
		return false
	}
	delete(l.index, id)
	return true
}
