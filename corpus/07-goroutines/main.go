// Level 7: goroutines and channels. gc describes chan T as a typedef to a
// pointer to runtime.hchan; channels of channels and of funcs add more
// reference-only paths between types.
package main

import (
	"fmt"
	"sync"
	"time"
)

type Job struct {
	ID    int
	Reply chan Result
}

type Result struct {
	JobID int
	Value string
}

type Pool struct {
	Jobs    chan Job
	Control chan chan struct{}
	Tasks   chan func() int
	wg      sync.WaitGroup
	mu      sync.Mutex
	done    int
}

func (p *Pool) worker(id int) {
	defer p.wg.Done()
	for {
		select {
		case j, ok := <-p.Jobs:
			if !ok {
				return
			}
			j.Reply <- Result{j.ID, fmt.Sprintf("w%d", id)}
			p.mu.Lock()
			p.done++
			p.mu.Unlock()
		case t := <-p.Tasks:
			_ = t()
		case <-time.After(time.Second):
			return
		}
	}
}

func main() {
	p := &Pool{Jobs: make(chan Job), Control: make(chan chan struct{}), Tasks: make(chan func() int)}
	for i := 0; i < 3; i++ {
		p.wg.Add(1)
		go p.worker(i)
	}
	reply := make(chan Result, 5)
	for i := 0; i < 5; i++ {
		p.Jobs <- Job{i, reply}
	}
	close(p.Jobs)
	p.wg.Wait()
	fmt.Println(len(reply), p.done)
}
