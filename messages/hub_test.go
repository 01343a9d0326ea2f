package messages_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgql/server/messages"
)

func TestHubDeliversInOrder(t *testing.T) {
	h := messages.NewHub(messages.HubOptions{Buffer: 100})
	var subs []*messages.Subscription
	for range 3 {
		s, err := h.Subscribe()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		subs = append(subs, s)
	}
	// Senders race each other; every subscriber must still see one order.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if _, err := h.Send("u", fmt.Sprint(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var first []string
	for i, s := range subs {
		var got []string
		for range 50 {
			got = append(got, (<-s.C).ID)
		}
		if i == 0 {
			first = got
		} else if strings.Join(got, ",") != strings.Join(first, ",") {
			t.Errorf("subscriber %d saw another order", i)
		}
	}
}

func TestHubEndsSlowSubscriber(t *testing.T) {
	h := messages.NewHub(messages.HubOptions{Buffer: 2})
	slow, _ := h.Subscribe()
	fast, _ := h.Subscribe()
	defer fast.Close()
	done := make(chan int)
	go func() {
		n := 0
		for range fast.C {
			n++
			if n == 5 {
				break
			}
		}
		done <- n
	}()
	start := time.Now()
	for i := range 5 {
		if _, err := h.Send("u", fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // let the fast reader keep up
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("a slow subscriber slowed the sender")
	}
	if n := <-done; n != 5 {
		t.Errorf("fast subscriber got %d messages", n)
	}
	n := 0
	for range slow.C {
		n++
	}
	var e *messages.Error
	if n != 2 || !errors.As(slow.Err(), &e) || e.Code != messages.CodeSlowSubscriber {
		t.Errorf("slow subscriber got %d messages, err %v; want 2 then SLOW_SUBSCRIBER", n, slow.Err())
	}
	if h.Subscribers() != 1 {
		t.Errorf("Subscribers = %d; want 1 after dropping the slow one", h.Subscribers())
	}
}

func TestHubLimits(t *testing.T) {
	h := messages.NewHub(messages.HubOptions{MaxTextLength: 5, MaxSubscribers: 1})
	for text, ok := range map[string]bool{"hello": true, "héllo": true, "hello!": false, "": false, " \n": false, "\xff": false} {
		_, err := h.Send("u", text)
		var e *messages.Error
		if ok != (err == nil) || (err != nil && (!errors.As(err, &e) || e.Code != messages.CodeBadInput)) {
			t.Errorf("Send(%q) = %v", text, err)
		}
	}
	s, err := h.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(); err == nil {
		t.Errorf("second subscriber accepted over MaxSubscribers=1")
	}
	s.Close()
	s.Close() // idempotent
	if _, err := h.Subscribe(); err != nil {
		t.Errorf("subscribing after Close: %v", err)
	}
}
